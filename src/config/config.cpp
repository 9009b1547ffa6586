// config/config.cpp: placeholder, being written.
