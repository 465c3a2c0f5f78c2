"""MLflow's search language: a lark grammar parsed to a typed AST, compiled to SQLAlchemy.

``parser`` holds the grammar and the AST (no database); ``sql`` compiles it for the store.
"""
