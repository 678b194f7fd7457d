"""The benchmark harness: xmpp-bridge beside Biboumi, the bare servers and the direct Matrix path."""
