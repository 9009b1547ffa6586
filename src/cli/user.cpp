// cli/user.cpp: placeholder, being written.
