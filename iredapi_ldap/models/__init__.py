"""Repository functions per iRedMail object type: plain dicts over the Directory."""
