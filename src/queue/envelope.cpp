// queue/envelope.cpp: placeholder, being written.
