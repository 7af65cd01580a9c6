"""Training data: safe decoding, the data set layout, folder import, the emoji set, URL lists."""
