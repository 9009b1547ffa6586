// delivery/maildir.cpp: placeholder, being written.
