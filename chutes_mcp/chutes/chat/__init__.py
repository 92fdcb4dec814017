"""One chat call: the request Chutes receives, which models to try, failover, streamed chunks and
progress, reasoning rules, cost and the cost guard."""
