"""SprintProof dashboards: the Streamlit app, Plotly figure builders and the PDF board pack."""
