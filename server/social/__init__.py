"""Social networks (issue 17): Meta webhooks become actions, rules over actions reward."""
