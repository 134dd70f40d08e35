"""The reports app's writes: invoices, and the sales report."""
