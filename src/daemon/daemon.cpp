// daemon/daemon.cpp: placeholder, being written.
