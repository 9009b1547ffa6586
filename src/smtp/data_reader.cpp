// smtp/data_reader.cpp: placeholder, being written.
