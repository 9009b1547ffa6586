// tls/self_signed.cpp: placeholder, being written.
