"""Smart Approval (智慧审批): a platform for a government service centre."""
