"""Benchmarks: figures printed beside a baseline measured in the same run.

    sudo make bench          (or: sudo .venv/bin/python -m benchmarks)
"""
