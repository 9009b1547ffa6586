// smtp/command_parser.cpp: placeholder, being written.
