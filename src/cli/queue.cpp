// cli/queue.cpp: placeholder, being written.
