// queue/runner.cpp: placeholder, being written.
