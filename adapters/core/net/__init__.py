"""Transport: the stream vocabulary, one watched WebSocket connection, the dispatcher that drains it, pools
of market-data sockets, the async REST client with its error taxonomy, read retries, and the request
budget shared by several nodes on one IP.
"""
