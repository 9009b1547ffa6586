// smtp/address.cpp: placeholder, being written.
