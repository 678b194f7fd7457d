"""The benchmark harness: xmpp-bridge beside Biboumi, the bare servers, direct Matrix."""
