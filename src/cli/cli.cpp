// cli/cli.cpp: placeholder, being written.
