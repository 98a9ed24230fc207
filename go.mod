module fulcrum

go 1.26
