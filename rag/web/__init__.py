"""The page `rag serve` shows a browser at /, and the streamed answers it asks for."""
