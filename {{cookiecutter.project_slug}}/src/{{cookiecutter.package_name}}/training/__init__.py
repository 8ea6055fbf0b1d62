"""Step 5, training and evaluation: fit, measure against step 1, register, promote."""
