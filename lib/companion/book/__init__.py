"""The book's machinery: the Sphinx extension (`companion.book.sphinx`), downloadable notebooks, the
execution cache's prebuild, the student edition and the syllabus. It reads results through
`companion.core` only."""
