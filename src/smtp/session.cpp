// smtp/session.cpp: placeholder, being written.
