// smtp/server_connection.cpp: placeholder, being written.
