"""
The game's WebSocket, shared by the apps: the frames and their field readers
(`protocol`), and the registry through which each app declares the messages it
answers and the channel-layer events it handles (`registry`). The one consumer,
movement/consumers.py, is only the connection.
"""
