// smtp/server.cpp: placeholder, being written.
