// queue/spool.cpp: placeholder, being written.
