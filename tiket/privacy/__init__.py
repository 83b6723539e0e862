"""Personal data (UU No. 27 of 2022): retention, export, erasure and the access audit."""
