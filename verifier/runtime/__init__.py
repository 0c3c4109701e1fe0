"""Running untrusted step code: the sandboxed worker, its guards and memory estimates."""
