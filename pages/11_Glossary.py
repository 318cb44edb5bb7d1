"""Glossary page: every term of the course in English and Chinese, with a search box."""

from ui import glossary, page

page.setup("glossary")
glossary.render()
