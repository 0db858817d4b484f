"""`contracts dlq`: look into a topic's dead letters and replay them under the current contract.

The pipeline reads one way: registry -> the topic's contract (contract.py, from the compiled
image); cluster -> dead letters (reading.py); both -> an inspection (inspect.py) or a replay
(replay.py). Only run.py strings them together; commands.py holds the Typer commands. This file
imports nothing, so that registering the commands does not load Kafka or protobuf.
"""
