module builds

go 1.26
