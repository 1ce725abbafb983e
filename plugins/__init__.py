"""Kopilka's built-in plugins (SMS, e-mail, payments, carriers, 1C, scanners).

They are ordinary plugins: they import the server's plugin API (`server.plugin_api`) and
are loaded through the ``kopilka.plugins`` entry points like any third-party plugin; see
``plugins/README.md``. The server imports nothing from here.
"""
