// cli/serve.cpp: placeholder, being written.
