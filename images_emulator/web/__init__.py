"""The pages a person looks at: the dashboard (`/__emulator/ui`) and the API docs served offline."""
