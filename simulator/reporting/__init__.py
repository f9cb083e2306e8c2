"""What a run leaves for people: raw results on disk (``results``), figures
(``plots``, ``drawing``) and the terminal summary (``report``). Functions here take
data and return text or figures; they never touch a network.
"""
