// smtp/reply.cpp: placeholder, being written.
