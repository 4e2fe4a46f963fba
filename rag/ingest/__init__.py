"""Files in, text out: reading a folder of articles and cutting it into chunks with offsets."""
