"""The language model behind one interface: llama.cpp in process, a remote server, GGUF metadata, model choice."""
