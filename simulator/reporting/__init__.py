"""What a run leaves for people: raw results on disk (``results``), figures
(``plots``, ``drawing``), the terminal summary (``report``) and a run's page,
report.html, built from its folder alone (``html``). Functions here take data and
return text or figures; they never touch a network.
"""
