"""Controllers: API clients that turn desired state into actual state.

Each controller lives in its own module (or folder), is built by a factory
registered in ``registry.py`` and run by ``manager.ControllerManager``, which
shares one informer per resource among them. Event handlers only enqueue keys;
the decisions (reconcilers) are pure functions over the cached objects; the
controller applies the returned plan through the API.
"""
