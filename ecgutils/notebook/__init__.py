"""What the notebooks use around the science: the setup cell, figures, headless runs and the hand-in.

===============  ==============================================================================================
``session``      the notebooks' setup cell (versions, seed, output folders)
``plots``        the figures the notebooks show
``pipeline``     run the notebooks headless in order (``make run``)
``handin``       executed notebooks as HTML for hand-in (``make handin``)
``assignments``  the exercises as an nbgrader assignment: student release, grading (``make assignments``)
===============  ==============================================================================================
"""
