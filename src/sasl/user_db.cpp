// sasl/user_db.cpp: placeholder, being written.
