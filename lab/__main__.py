from lab.cli import console_main

console_main()
