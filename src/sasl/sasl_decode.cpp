// sasl/sasl_decode.cpp: placeholder, being written.
