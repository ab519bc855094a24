"""``python -m langgraph_redis_saver``: the ``lgrs`` inspector."""

from langgraph_redis_saver.cli import main

if __name__ == "__main__":
    main()
