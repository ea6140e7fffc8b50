console.log("server @VERSION@");
