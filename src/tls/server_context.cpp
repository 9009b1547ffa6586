// tls/server_context.cpp: placeholder, being written.
