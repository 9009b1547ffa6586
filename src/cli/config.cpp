// cli/config.cpp: placeholder, being written.
